pipeline {
    agent any
    stages {  // <-- stage-duplicate-name (Jenkins's line)
        stage('a') { steps { echo 'x' } }
        stage('a') { steps { echo 'y' } }  // <-- stage-duplicate-name
    }
}
